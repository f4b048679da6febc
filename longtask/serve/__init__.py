"""`longtask serve`: the job system over HTTP, with live progress over SSE and a dashboard.

Like the CLI it is a reader and a submitter: it records jobs and streams progress
from the store; it never runs documents itself.
"""
