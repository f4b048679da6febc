"""longtask: resumable batch jobs that turn folders of PDFs into embedded text chunks."""

__version__ = "0.2.0"
