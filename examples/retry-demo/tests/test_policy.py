from fetcher.policy import RetryPolicy


def test_gives_up_after_max_attempts():
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(3, 503)
    assert not policy.should_retry(4, 503)


def test_does_not_retry_client_errors():
    assert not RetryPolicy().should_retry(1, 404)
