"""What `main.py` needs around the CDKTF App: a safe output folder and the provider lock file."""
