"""A real Redis Cluster on loopback: three primaries, one replica each, from installed binaries."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.servers import RedisServer


def _free_cluster_port() -> int:
    """A free port whose cluster-bus twin (port + 10000) is free as well."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterNode(RedisServer):
    """A redis-server with cluster mode on and a short node timeout, so failover is quick."""

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--appendonly", "yes",
                "--appendfsync", "everysec", "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                "--protected-mode", "yes"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ping(self.port)


class RedisCluster:
    """Six nodes, `redis-cli --cluster create` with one replica per primary."""

    def __init__(self, workdir: Path, primaries: int = 3):
        self.nodes = [ClusterNode(workdir / f"node{i}", port=_free_cluster_port())
                      for i in range(primaries * 2)]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli is not installed (apt-get install -y redis-tools)")
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run([cli, "--cluster", "create", *addresses, "--cluster-replicas", "1",
                        "--cluster-yes"], check=True, capture_output=True, timeout=60)
        self.wait_healthy()

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        """Until every slot is served by a live primary and every live replica is in sync."""
        deadline = time.monotonic() + timeout_s
        while True:
            live = [n for n in self.nodes if n.proc is not None]
            if all(_cluster_ok(n.port) and _in_sync(n.port) for n in live):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become healthy")
            time.sleep(0.1)

    def primary_for(self, key: str) -> ClusterNode:
        """The node that serves `key`'s slot now."""
        client = redis.RedisCluster.from_url(self.url)
        try:
            node = client.get_node_from_key(key)
            return next(n for n in self.nodes if n.port == node.port)
        finally:
            client.close()

    def role(self, node: ClusterNode) -> str:
        client = redis.Redis(port=node.port)
        try:
            return str(client.info("replication")["role"])
        finally:
            client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _wait_ping(port: int, timeout_s: float = 30.0) -> None:
    client = redis.Redis(port=port)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


def _cluster_ok(port: int) -> bool:
    """This node sees all 16384 slots served, each by a primary it can reach."""
    client = redis.Redis(port=port, decode_responses=True)
    try:
        info = str(client.execute_command("CLUSTER", "INFO"))
        nodes = str(client.execute_command("CLUSTER", "NODES"))
    except redis.exceptions.ConnectionError:
        return False
    finally:
        client.close()
    if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
        return False
    for line in nodes.splitlines():
        fields = line.split()
        serves_slots = len(fields) > 8
        if serves_slots and ("fail" in fields[2] or fields[7] != "connected"):
            return False
    return True


def _in_sync(port: int) -> bool:
    client = redis.Redis(port=port, decode_responses=True)
    try:
        info = client.info("replication")
    except redis.exceptions.ConnectionError:
        return False
    finally:
        client.close()
    return info["role"] == "master" or info.get("master_link_status") == "up"
