"""Basic and Digest per RFC 7616, checked against the RFC's own examples, and the choice of challenge."""

import pytest

from services.probe.rtsp_auth import (
    AuthRefused,
    DigestSession,
    basic_authorization,
    choose,
    parse_challenges,
)

# RFC 7616 section 3.9.1.
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def _rfc_session(algorithm: str) -> DigestSession:
    header = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
    )
    (challenge,) = parse_challenges([header])
    return DigestSession(challenge, "Mufasa", "Circle of Life", cnonce=RFC_CNONCE)


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_response_matches_the_rfc_7616_example(algorithm: str, response: str) -> None:
    header = _rfc_session(algorithm).authorization("GET", "/dir/index.html")
    assert f'response="{response}"' in header
    assert "qop=auth," in header and "nc=00000001" in header and f'opaque="{RFC_OPAQUE}"' in header


def test_the_nonce_count_grows_with_each_request_on_one_challenge() -> None:
    session = _rfc_session("MD5")
    session.authorization("DESCRIBE", "rtsp://h/a")
    assert "nc=00000002" in session.authorization("DESCRIBE", "rtsp://h/a")


def test_userhash_sends_the_hashed_user_name() -> None:
    (challenge,) = parse_challenges(['Digest realm="r", nonce="n", algorithm=SHA-256, userhash=true'])
    header = DigestSession(challenge, "Mufasa", "x").authorization("DESCRIBE", "rtsp://h/a")
    assert "Mufasa" not in header and "userhash=true" in header


def test_basic_is_base64_of_user_and_password() -> None:
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="


def test_several_challenges_in_one_header_are_all_read() -> None:
    challenges = parse_challenges(['Basic realm="cam", Digest realm="cam", nonce="abc", qop="auth", stale=TRUE'])
    assert [c.scheme for c in challenges] == ["basic", "digest"]
    assert challenges[1].stale and challenges[1].qops == ("auth",)


def test_quoted_values_keep_commas_and_escapes() -> None:
    (challenge,) = parse_challenges(['Digest realm="a, \\"b\\"", nonce="n"'])
    assert challenge.params["realm"] == 'a, "b"'


def test_digest_is_preferred_over_basic_and_sha256_over_md5() -> None:
    challenges = parse_challenges(
        [
            'Basic realm="c"',
            'Digest realm="c", nonce="1", algorithm=MD5',
            'Digest realm="c", nonce="2", algorithm=SHA-256',
        ]
    )
    chosen = choose(challenges, digest_seen=False)
    assert chosen.scheme == "digest" and chosen.algorithm == "SHA-256"


def test_basic_is_refused_from_a_host_that_offered_digest() -> None:
    with pytest.raises(AuthRefused, match="downgrade"):
        choose(parse_challenges(['Basic realm="c"']), digest_seen=True)


def test_basic_alone_is_answered_for_a_host_that_never_offered_digest() -> None:
    assert choose(parse_challenges(['Basic realm="c"']), digest_seen=False).scheme == "basic"


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(AuthRefused, match="negotiate"):
        choose(parse_challenges(["Negotiate abc=="]), digest_seen=False)
