"""What the end-to-end suites share: the binaries under test, waiting without sleeps as
synchronisation, loopback ports, files and mounts (common), and one control plane with one agent
on loopback (cluster)."""
