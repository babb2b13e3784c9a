import ssl


def {{fn}}(cafile: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if cafile is not None:
        ctx.load_verify_locations(cafile=cafile)  # our CA in addition to the system trust store
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
