"""The token limit counted in Redis in batches (webapp/protection/token_counts.py): two
TokenCounts on one real Redis stand for two workers; limits' own RedisStorage sends."""

import os
import time
import uuid

import limits
import pytest
import redis
from helpers import closed_port
from limits.errors import StorageError
from limits.storage import storage_from_string

from webapp.protection.token_counts import FLUSH_SECONDS, MAX_PENDING, TokenCounts

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_storage():
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}"
    yield storage_from_string(REDIS_URL, key_prefix=prefix, wrap_exceptions=True), connection
    keys = list(connection.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        connection.delete(*keys)
    connection.close()


def store_calls(connection) -> int:
    """The increments Redis has run (limits sends each as one script), by its own stats."""
    stats = connection.info("commandstats")
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def test_far_from_the_limit_most_requests_cost_no_round_trip(redis_storage):
    storage, connection = redis_storage
    worker = TokenCounts(storage)
    item = limits.parse("100000 per minute")
    before = store_calls(connection)
    assert all(worker.hit(item, "webapp", "token", "user:a") for _ in range(2000))
    assert store_calls(connection) - before < 2000 / MAX_PENDING * 2
    time.sleep(FLUSH_SECONDS * 5)  # the worker has sent what it counted
    assert storage.get(item.key_for("webapp", "token", "user:a")) == 2000


def test_two_workers_stop_a_visitor_at_the_limit_give_or_take_a_batch_each(redis_storage):
    storage, _ = redis_storage
    workers = [TokenCounts(storage), TokenCounts(storage)]
    item = limits.parse("100 per minute")
    answers = [workers[number % 2].hit(item, "webapp", "token", "user:b") for number in range(200)]
    first_refused = answers.index(False) + 1
    assert 100 < first_refused <= 100 + len(workers) * MAX_PENDING
    assert not any(answers[first_refused:])  # once over, every request is counted and refused


def test_a_small_limit_is_counted_exactly(redis_storage):
    storage, _ = redis_storage
    workers = [TokenCounts(storage), TokenCounts(storage)]
    item = limits.parse(f"{MAX_PENDING} per minute")
    answers = [workers[number % 2].hit(item, "webapp", "token", "user:c") for number in range(20)]
    assert answers == [True] * MAX_PENDING + [False] * (20 - MAX_PENDING)


def test_a_store_that_is_away_refuses_the_first_request():
    storage = storage_from_string(f"redis://127.0.0.1:{closed_port()}", wrap_exceptions=True)
    with pytest.raises(StorageError):
        TokenCounts(storage).hit(limits.parse("100 per minute"), "webapp", "token", "user:d")


def test_memory_is_counted_directly():
    worker = TokenCounts(storage_from_string("memory://"))
    item = limits.parse("3 per minute")
    assert [worker.hit(item, "user:e") for _ in range(4)] == [True, True, True, False]
