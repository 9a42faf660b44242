"""tito: the TinyTorch command line, one front door for students and instructors."""
__version__ = "0.1.0"
