"""longtask: resumable batch jobs that turn folders of PDFs into embedded text chunks."""

__version__ = "0.3.1"


def __getattr__(name: str) -> object:
    """`from longtask import Client`, imported on first use so that the CLI's start-up
    (which reads __version__) stays quick."""
    if name == "Client":
        from longtask.client import Client

        return Client
    raise AttributeError(f"module 'longtask' has no attribute {name!r}")
