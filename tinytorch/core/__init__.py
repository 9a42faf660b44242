"""Generated from the course modules by `tito export`; do not edit by hand."""
