/** Copyright 2025 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

export const handler = async (_event) => {
  return 'Hello from ESM.js';
};

export const getMessage = () => {
  return "Hello from ESM!";
};
