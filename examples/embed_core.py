"""The README's embedding example: drive the sans-I/O core by hand."""

from router import AgentSpec, Inquiry, Router, decode_config

config = decode_config(b"""
[routing]
mode = "offer"                     # agents accept offers; "immediate" assigns directly
offer_timeout_s = 20
weights = { proficiency = 1.0, idle_time = 1.0, load = 2.0, recent_work = 1.0 }
[[queues]]
name = "refund"
channel = "chat"
requires = { refund = 2 }
""")
router = Router(config)
router.login(AgentSpec(id="ye", skills={"refund": 5}, capacity={"chat": 20}), now=0.0)
admission = router.submit(Inquiry(id="order-1", queue="refund", patience_s=300), now=1.0)
print(admission.outcome, admission.expected_wait_s)
for event in router.tick(now=1.0):  # one matching pass; returns what happened
    print(event)  # AgentLoggedIn, Queued, Offered(order-1 -> ye)
router.accept("order-1", now=3.0)
router.complete("order-1", now=95.0)
print(router.tick(now=95.0))  # Assigned, Completed
print(router.next_deadline())  # when to call tick() next (here: recent-work window)
