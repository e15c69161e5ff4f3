import pytest
from reactive import api
from reactive.testing import ReactiveClient, run_scheduled, advance_time, reset_clock
pytestmark = pytest.mark.django_db(transaction=True)

def test_smoke():
    c = ReactiveClient()
    sid = c.mutation(api.testapp.scheduling.schedule_bump, {"name": "a", "delay": 1000})
    print(sid)
    print(c.query(api.testapp.scheduling.scheduled, {}))
    assert run_scheduled() == []
    print(advance_time(1000))
    assert c.query(api.testapp.scheduling.count, {"name": "a"}) == 1
    print(c.query(api.testapp.scheduling.scheduled_one, {"id": sid}))
    reset_clock()
