"""The profile summary counts py-spy's samples per frame, once per sample however deep."""

from bench.profile import published, tally

RAW = [
    "<module> (pessoas:10);serve (pessoas/cli.py:54);write (uvloop/loop.py:1) 30\n",
    "<module> (pessoas:10);serve (pessoas/cli.py:54);reserve (pessoas/adapters/redis_cache.py:131) 10\n",
    # A recursive frame appears twice in one stack and still counts once for that sample.
    "<module> (pessoas:10);walk (a/b.py:3);walk (a/b.py:3) 5\n",
    "not a sample line\n",
]


def test_own_and_inclusive_samples_per_frame():
    total, own, inclusive = tally(RAW)
    assert total == 45
    assert own["write (loop.py:1)"] == 30 and own["reserve (redis_cache.py:131)"] == 10
    assert inclusive["serve (cli.py:54)"] == 40
    assert inclusive["<module> (pessoas:10)"] == 45
    assert inclusive["walk (b.py:3)"] == 5 and own["walk (b.py:3)"] == 5


API1 = """# TYPE pessoas_announcement_size histogram
pessoas_announcement_size_bucket{le="1.0"} 3.0
pessoas_announcement_size_bucket{le="+Inf"} 5.0
pessoas_announcement_size_count 5.0
pessoas_announcement_size_sum 12.0
# TYPE pessoas_creations counter
pessoas_creations_total{outcome="committed",reason=""} 99.0
# TYPE pessoas_commit_batch_size histogram
pessoas_commit_batch_size_count 9.0
pessoas_commit_batch_size_sum 30.0
"""
API2 = API1.replace("_count 5.0", "_count 2.0").replace("_sum 12.0", "_sum 7.0")


def test_messages_and_their_pessoas_add_up_over_the_instances():
    assert published([API1, API2]) == (7, 19)
    assert published([API1, API2], "pessoas_commit_batch_size") == (18, 60)
    assert published([]) == (0, 0)
