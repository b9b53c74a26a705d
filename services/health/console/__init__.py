"""The operations console: the wall page at /console, its sign-in sessions and the status table."""
