# Faulty on purpose: sleeps past the function timeout when it meets order o-00000004.
import base64
import json
import time


def lambda_handler(event, context):
    for record in event["Records"]:
        order = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if order["Item"]["orderId"] == "o-00000004":
            print("sleeping; time left:", context.get_remaining_time_in_millis() > 0)
            time.sleep(60)
    return {"state": {"n": event["state"].get("n", 0) + len(event["Records"])}}
