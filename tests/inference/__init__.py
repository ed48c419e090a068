"""Tests of deepcolor.inference (a package, so that its module names do not collide with tests/cli)."""
