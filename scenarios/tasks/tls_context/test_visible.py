import ssl

from solution import {{fn}}


def test_returns_client_context():
    ctx = {{fn}}()
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
