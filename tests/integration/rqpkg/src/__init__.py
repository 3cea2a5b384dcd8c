# Stand-in for the speech pipeline's package, for tests/integration/test_rq.sh.
