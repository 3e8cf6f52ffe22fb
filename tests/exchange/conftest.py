import pytest
from support.receivers import Receiver, SmtpServer


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 that checks signatures (support/receivers.py)."""
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def local_webhooks(settings):
    """The test receivers live on 127.0.0.1, which production refuses by default."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
