"""A running server and the CLI share one key file: what one rotates, the other follows."""

from __future__ import annotations

from pathlib import Path

from dataward.keys import LocalKeyring, generate_data_key


def test_a_server_wraps_under_the_key_another_process_rotated_to(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    server = LocalKeyring.generate(path)
    cli = LocalKeyring.open(path)
    assert server.wrap(generate_data_key(), b"s1").kek_id == "kek-1"
    new = cli.rotate()
    cli.retire("kek-1")
    assert server.wrap(generate_data_key(), b"s2").kek_id == new
    assert server.active_kek_id == new
