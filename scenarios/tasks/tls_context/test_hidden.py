import ssl

import pytest

from solution import {{fn}}


def test_verifies_certificates():
    ctx = {{fn}}()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_modern_protocols_only():
    assert {{fn}}().minimum_version >= ssl.TLSVersion.TLSv1_2


def test_missing_cafile_is_an_error(tmp_path):
    with pytest.raises((OSError, ssl.SSLError)):
        {{fn}}(str(tmp_path / "missing-ca.pem"))
