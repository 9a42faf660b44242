"""One file per command group; `tito.main` puts them together."""
