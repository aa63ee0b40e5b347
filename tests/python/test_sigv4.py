"""mithril's SigV4 signer against an independent implementation: botocore's
S3SigV4Auth signing the same requests at the same instant."""
import datetime
import hashlib
import random
import string
import urllib.parse
from unittest import mock

import pytest

mc = pytest.importorskip("mithril_cache")
botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def botocore_sign(method, host, path, query, headers, body, region):
    url = f"http://{host}{path}"
    if query:
        url += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = botocore_auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", "secret/Key+example"), "s3", region)
    fixed = datetime.datetime(2026, 11, 24, 12, 34, 56)
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = fixed
        dt.datetime.now.return_value = fixed.replace(tzinfo=datetime.timezone.utc)
        signer.add_auth(req)
    return req.headers["Authorization"], req.headers["X-Amz-Date"], req.headers["X-Amz-Content-SHA256"]




@pytest.mark.parametrize("seed", range(40))
def test_matches_botocore(seed):
    rnd = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_.~ +=&%/!$'()*,;:@"
    key = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))).lstrip("/") or "k"
    method = rnd.choice(["GET", "PUT", "HEAD", "DELETE", "POST"])
    body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300))) if method in ("PUT", "POST") else b""
    query = {}
    if rnd.random() < 0.5:
        query = {"list-type": "2", "prefix": "v1/fw/cpu-AVX2/" + key[:5]}
    if rnd.random() < 0.3:
        query = {"partNumber": str(rnd.randint(1, 10000)), "uploadId": "".join(rnd.choice(alphabet) for _ in range(20))}
    region = rnd.choice(["us-east-1", "eu-west-3", "auto"])
    host = rnd.choice(["127.0.0.1:9000", "bucket.s3.eu-west-3.amazonaws.com"])
    path = "/bucket/" + quote(key).replace("%2F", "/")
    expected, amz_date, payload = botocore_sign(method, host, path, query, {}, body, region)
    assert payload == hashlib.sha256(body).hexdigest()
    got = mc._core.sigv4_authorization(
        method, path, query,
        {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload},
        payload, "AKIDEXAMPLE", "secret/Key+example", region, "s3", amz_date)
    assert got == expected
