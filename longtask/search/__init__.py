"""Search over a store: what `longtask search`, `GET /api/search` and `Client.search`
all answer, as `search(store, Query(text, k=..., collection=...), home=...)`.

- `query`    the request (`Query`), the modes, and the query path: members of the
             collection, each mode's ranking, fusion, the result rows
- `fusion`   how hybrid search joins the vector and keyword rankings (`FUSIONS`)
- `words`    the query's words: what keyword search looks for, what a snippet shows
- `snippets` what a result shows: the passage that best matches the query, and the
             spans of its whole query words (and their stems) to highlight
- `vectors`  the vector index derived from the store's chunks (one per model and home)

The SQL stays in the store (`jobs/store/`): the keyword index is each backend's own
full-text search behind the connector, and collections are written at submit.
"""

from __future__ import annotations

from longtask.search.fusion import DEFAULT_FUSION, FUSIONS
from longtask.search.query import DEFAULT_MODE, MODES, Query, query_embedder, search

__all__ = ["DEFAULT_FUSION", "DEFAULT_MODE", "FUSIONS", "MODES", "Query", "query_embedder", "search"]
