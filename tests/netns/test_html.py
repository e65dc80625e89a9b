"""The lecture's pictures: `netlab run macvlan --step --pause 0 --html out.html` narrates every step and
writes a report that headless Chromium renders with the diagram and the matrices; the SVG parses."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from hostsnap import HostSnapshot

from netlab import loader
from netlab.report import diagram

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _png_pixels(path: Path) -> bytes:
    """The PNG's decompressed scanlines (filter bytes included): enough to tell a blank page from a drawn one."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


def test_svg_of_a_topology_parses_and_names_everything() -> None:
    t = loader.load("overlay")
    root = ET.fromstring(diagram.svg(diagram.dot_source(t)))
    assert root.tag.endswith("svg")
    titles = {el.text for el in root.iter() if el.tag.endswith("title")}
    for name in ("a", "b", "x", "ext", "host", "node2", "net:overlay:ov", "net:overlay:other", "lan:underlay"):
        assert name in titles, name


def test_step_and_html_report_render_in_headless_chromium(tmp_path: Path, host_unchanged: HostSnapshot) -> None:
    out = tmp_path / "out.html"
    proc = subprocess.run(
        ["netlab", "run", "macvlan", "--step", "--pause", "0", "--html", str(out), "--pcap", str(tmp_path / "pcap")],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    for narrated in (
        "$ docker network create -d macvlan --subnet 198.18.0.0/24 --ipv6 --subnet fd6e:6574:6c00::/64 -o parent=eth0 "
        "-o macvlan_mode=bridge mv",
        "$ docker run -d --name c2 --network mv --ip 198.18.0.3 --ip6 fd6e:6574:6c00::3 netlab/probe",
        "# ip link add macvlan-shim link eth0 type macvlan mode bridge",
    ):
        assert narrated in proc.stdout
    page = out.read_text()
    # self-contained: nothing fetched (the SVG namespace URIs are names, not fetches)
    assert not re.search(r'(?:src|href)="https?:', page) and "<script" not in page and "<link" not in page
    assert 'href="pcap/initial-lan0.pcap"' in page and (tmp_path / "pcap" / "initial-lan0.pcap").is_file()
    assert CHROMIUM is not None, "chromium is not installed (tests/run.sh installs it)"
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert dom.count("<svg") == 2  # one diagram per stage
    assert dom.count('class="grid"') >= 6  # expected / observed / diff per stage
    assert "12 correct, 0 wrong, 0 errors" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1400,2400",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = _png_pixels(shot)
    assert len(set(pixels)) > 64, "the screenshot is blank"
    assert sum(1 for b in pixels if b) > len(pixels) // 50
