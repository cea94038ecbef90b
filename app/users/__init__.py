"""The member directory and profiles."""
