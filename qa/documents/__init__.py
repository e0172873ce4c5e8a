"""The documents: one reader per file type with front matter (`corpus`), and token-aware
chunking with stable chunk ids (`chunking`)."""
