"""What the server keeps in its data folder: the SQLite store, this run, every browser's row,
billing, profiles and workspaces (with their uploads)."""
