/** Copyright 2021 Amazon.com, Inc. or its affiliates. All Rights Reserved. */

'use strict';

exports.ret42 = () => {
  return 42;
};
