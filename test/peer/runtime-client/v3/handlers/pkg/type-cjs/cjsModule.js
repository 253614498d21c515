/** Copyright 2025 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

'use strict';

module.exports.handler = async (_event) => {
  return 'Hello from CJS.js';
};
