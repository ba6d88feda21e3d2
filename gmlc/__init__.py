"""The SALVE location authority: MLP endpoint, observation intake, positioning, statements."""
