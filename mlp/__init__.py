"""OMA MLP 3.x codec and the SALVE wire formats (location statements, observation reports)."""
