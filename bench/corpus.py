"""The requests every parser benchmark parses, shared by the Python and C benches."""

MINIMAL = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

# A typical browser navigation: about 500 bytes, 12 header fields.
TYPICAL = (
    b"GET /products/list?page=2&sort=price HTTP/1.1\r\n"
    b"Host: shop.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\n"
    b"Referer: https://shop.example.com/products/list?page=1\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"\r\n"
)


def _cookie_heavy() -> bytes:
    cookies = "; ".join(f"c{i:03d}={'%032x' % (i * 2654435761 % (1 << 128))}" for i in range(98))
    head = (
        "GET /api/v2/account/settings HTTP/1.1\r\n"
        "Host: app.example.com\r\n"
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36\r\n"
        "Accept: application/json\r\n"
        f"Cookie: {cookies}\r\n"
        "\r\n"
    )
    return head.encode("ascii")


COOKIE_HEAVY = _cookie_heavy()

REQUESTS = {"minimal": MINIMAL, "typical": TYPICAL, "cookie4k": COOKIE_HEAVY}
