"""Each worker thread's connection is closed once its thread has ended."""

from __future__ import annotations

import ssl
import threading

import httpx

from filemaker_migration.dataapi._transport import ThreadClients


class EndingThread:
    """A thread that ends between two looks at it: alive, then not."""

    def __init__(self) -> None:
        self.looks = 0

    def is_alive(self) -> bool:
        self.looks += 1
        return self.looks == 1


def test_a_thread_ending_while_its_client_is_looked_at_gets_it_closed():
    # Asking a thread twice whether it is alive (once to close its client,
    # once to keep it) dropped the client of a thread that ended in between,
    # unclosed: its socket leaked (a ResourceWarning in a later test).
    clients = ThreadClients(ssl.create_default_context(), None, httpx.Timeout(5))
    orphan = httpx.Client()
    clients._clients.append((EndingThread(), orphan))  # type: ignore[arg-type]
    # A new thread's first request tidies up the ended threads' clients.
    thread = threading.Thread(target=clients.current)
    thread.start()
    thread.join()
    # It looked alive when asked: kept (not dropped), so closed at the end.
    assert orphan in [client for _thread, client in clients._clients]
    clients.close_all()
    assert orphan.is_closed
