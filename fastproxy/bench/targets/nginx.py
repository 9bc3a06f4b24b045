"""nginx as a benchmark target: one master, one worker, everything under a private prefix."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess

from fastproxy.bench.targets import (
    IDLE_POOL,
    MAX_CONNECTIONS,
    UPSTREAM_MAX_REQUESTS,
    Setup,
    Target,
    need_tls,
)

__all__ = ["NginxTarget", "nginx_conf"]


def _user_line() -> str:
    # Started as root, nginx switches its worker to `user`; its built-in
    # default group "nobody" does not exist on Debian, so name both.
    if os.geteuid() != 0:
        return ""
    try:
        nobody = pwd.getpwnam("nobody")
        return f"user nobody {grp.getgrgid(nobody.pw_gid).gr_name};\n"
    except KeyError:
        return "user root root;\n"


def nginx_conf(setup: Setup) -> str:
    """The nginx.conf for ``setup``: temp paths, pid and error log inside ``setup.workdir``."""
    work = setup.workdir
    scenario = setup.scenario
    servers = "".join(f"        server {host}:{port};\n" for host, port in setup.origins)
    if scenario.route == "chash":
        balance = "        hash $request_uri consistent;\n"
    else:
        balance = ""
    if scenario.route == "tls":
        tls = need_tls(setup)
        listen = (
            f"        listen 127.0.0.1:{setup.port} ssl backlog=4096;\n"
            f"        ssl_certificate {tls.cert};\n"
            f"        ssl_certificate_key {tls.key};\n"
        )
    else:
        listen = f"        listen 127.0.0.1:{setup.port} backlog=4096;\n"
    return (
        _user_line() + "worker_processes 1;\n"
        "daemon off;\n"
        f"pid {work}/nginx.pid;\n"
        f"error_log {work}/error.log warn;\n"
        f"worker_rlimit_nofile {MAX_CONNECTIONS * 2};\n"
        "events {\n"
        f"    worker_connections {MAX_CONNECTIONS};\n"
        "}\n"
        "http {\n"
        "    access_log off;\n"
        f"    client_body_temp_path {work}/client_body;\n"
        f"    proxy_temp_path {work}/proxy;\n"
        f"    fastcgi_temp_path {work}/fastcgi;\n"
        f"    uwsgi_temp_path {work}/uwsgi;\n"
        f"    scgi_temp_path {work}/scgi;\n"
        "    keepalive_timeout 60s;\n"
        # nginx closes a client connection after 1000 requests by default; HAProxy never does.
        "    keepalive_requests 1000000;\n"
        "    client_header_timeout 10s;\n"
        "    upstream origin {\n"
        f"{balance}{servers}"
        f"        keepalive {IDLE_POOL};\n"
        f"        keepalive_requests {UPSTREAM_MAX_REQUESTS};\n"
        "        keepalive_timeout 60s;\n"
        "    }\n"
        "    server {\n"
        f"{listen}"
        "        location / {\n"
        "            proxy_pass http://origin;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_set_header Host $host;\n"
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "            proxy_connect_timeout 3s;\n"
        "            proxy_read_timeout 60s;\n"
        "            proxy_send_timeout 60s;\n"
        # Stream what the buffers cannot hold instead of spooling it to disk.
        "            proxy_max_temp_file_size 0;\n"
        # Request bodies too: by default nginx refuses bodies over 1 MiB and reads a
        # whole body (to disk past client_body_buffer_size) before it picks an
        # upstream; HAProxy and fastproxy stream bodies of any size as they come.
        "            client_max_body_size 0;\n"
        "            proxy_request_buffering off;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )


class NginxTarget(Target):
    name = "nginx"
    binary = "nginx"
    install_hint = "apt-get install -y nginx"

    def version(self) -> str:
        return super().version().replace("nginx version: ", "")  # "nginx/1.22.1"

    def prepare(self, setup: Setup) -> list[str]:
        conf = setup.workdir / "nginx.conf"
        conf.write_text(nginx_conf(setup), encoding="ascii")
        # The worker, not root, reads nothing here after start-up, but the
        # prefix must be traversable for the temp paths nginx creates.
        os.chmod(setup.workdir, 0o755)
        # -e: the start-up error log too, before the config is read (never the system's).
        work = str(setup.workdir)
        return [self.executable() or self.binary, "-p", work, "-e", f"{work}/error.log", "-c", str(conf)]

    def check(self, setup: Setup) -> str | None:
        argv = [*self.prepare(setup), "-t", "-q"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return None if out.returncode == 0 else (out.stderr or out.stdout).strip()
