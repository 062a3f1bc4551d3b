"""Lambda handlers for a deployed Cirrus project: thin shells over the engine's rules.

Each module has `lambda_handler(event, context)`; the backends come from the environment
(`env.py`), with Cirrus's variable names so a Cirrus 0.9 stack's configuration works:

| variable                   | used by                                   | what                        |
|----------------------------|-------------------------------------------|-----------------------------|
| CIRRUS_STATE_DB            | process, update_state, api, publish, feed_rerun | state table name      |
| CIRRO_EVENTS_TABLE         | same (optional)                           | state events table          |
| CIRRUS_PROCESS_QUEUE_URL   | process (dead letters), update_state (chaining), feed_rerun | process queue |
| CIRRUS_BASE_WORKFLOW_ARN   | process                                   | `...:stateMachine:<stack>-` |
| CIRRUS_PAYLOAD_BUCKET      | process, update_state, pre_batch, post_batch, feed_rerun, api | payloads (name or s3:// URL) |
| CIRRUS_DATA_BUCKET         | publish, api (`/` reads catalog.json)     | published items             |
| CIRRUS_FAILED_TOPIC_ARN    | update_state                              | FAILED records announced    |
| CIRRUS_INVALID_TOPIC_ARN   | update_state                              | INVALID records announced   |
| CIRRUS_PUBLISH_TOPIC_ARN   | publish                                   | published items announced   |
| CIRRUS_PUBLISH_SNS         | publish (deprecated comma list, as Cirrus) | more topics                |
| CIRRUS_API_URL             | publish (via-cirrus links)                | the state API's URL         |

CIRRUS_PREFIX and CIRRUS_STACK are read by none of them (Cirrus's feed-rerun used them only
for its batch mode, not supported here). See docs/aws-backends.md.
"""
