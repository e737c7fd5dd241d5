# A Python tumbling-window aggregator in the style of AWS's examples: sums sales from Kinesis
# records in `state` and writes the window's total with boto3 on the final invocation.
import base64
import json
import logging

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)
table = boto3.resource("dynamodb").Table("tumblingWindowsTotals")


def lambda_handler(event, context):
    if event["isFinalInvokeForWindow"]:
        logger.info("storing window %s on %s", event["window"]["start"], event["shardId"])
        table.put_item(
            Item={
                "shardId": event["shardId"],
                "windowStart": event["window"]["start"],
                "sales": event["state"].get("sales", 0),
            }
        )
        return {"state": {}}
    sales = event["state"].get("sales", 0)
    for record in event["Records"]:
        payload = json.loads(base64.b64decode(record["kinesis"]["data"]))
        sales += payload["Item"]["sales"]
    print("batch of", len(event["Records"]), "records, running total", sales)
    return {"state": {"sales": sales}}
