"""The run store: every table the project keeps, in one SQLite file; all SQL lives in this folder."""
