"""A deadline for a request's headers, which uvicorn does not have.

uvicorn closes a connection that sits idle after a response (`timeout_keep_alive`),
but any byte received cancels that timer, and nothing limits how long a request's
headers may take: a client sending a header line every few seconds holds a file
descriptor for ever, and a few hundred such clients use them all up. Here each
request's headers must be complete within `header_timeout` of the connection opening
or of the previous response; otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def with_header_timeout(header_timeout: float) -> type[H11Protocol]:
    class HeaderDeadline(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(header_timeout, self._expire)

        def _expire(self) -> None:
            # Still waiting for (the rest of) a request's headers: give up on the client.
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

    return HeaderDeadline
