// ESM resolve hook: `import` of the AWS SDK resolves to tumblescope's stand-ins, ahead of
// node_modules.
import { pathToFileURL } from 'node:url';
import path from 'node:path';

let stubDir = '';
const STUBS = {
  'aws-sdk': 'aws-sdk.cjs',
  'aws-sdk/clients/dynamodb': 'aws-sdk-dynamodb.cjs',
  '@aws-sdk/client-dynamodb': 'client-dynamodb.cjs',
  '@aws-sdk/lib-dynamodb': 'lib-dynamodb.cjs',
};

export async function initialize(data) {
  stubDir = data.stubDir;
}

export async function resolve(specifier, context, next) {
  if (Object.prototype.hasOwnProperty.call(STUBS, specifier)) {
    return { url: pathToFileURL(path.join(stubDir, STUBS[specifier])).href, shortCircuit: true, format: 'commonjs' };
  }
  return next(specifier, context);
}
