# Faulty on purpose: does not parse.
def lambda_handler(event, context)
    return {"state": {}}
