# Faulty on purpose: raises on an order with a suspiciously high sale.
import base64
import json


def lambda_handler(event, context):
    if event.get("isFinalInvokeForWindow"):
        return {"state": event["state"]}
    sales = event["state"].get("sales", 0)
    for record in event["Records"]:
        order = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if order["Item"]["sales"] >= 97:
            raise ValueError("sale %d of order %s looks like a typo" % (order["Item"]["sales"], order["Item"]["orderId"]))
        sales += order["Item"]["sales"]
    return {"state": {"sales": sales}}
