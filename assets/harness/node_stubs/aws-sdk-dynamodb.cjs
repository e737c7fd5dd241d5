// Stand-in for `aws-sdk/clients/dynamodb`.
'use strict';

module.exports = require('./aws-sdk.cjs').DynamoDB;
