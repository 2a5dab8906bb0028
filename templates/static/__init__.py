"""Plain Python modules copied into every generated package (linted and tested as source)."""
