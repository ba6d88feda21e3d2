"""salve-verify: the client that checks a SALVE site."""
