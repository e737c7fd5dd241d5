# Faulty on purpose: sys.exit on its first invocation.
import sys


def lambda_handler(event, context):
    print("exiting")
    sys.exit(3)
