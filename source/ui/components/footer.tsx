/** The keys that work now, from the key table (the same table the `?` help lists). */
import {Text} from 'ink';
import React from 'react';
import {footerLine, type KeyContext} from '../keys.js';
import {useColour} from '../theme.js';

export function Footer({ctx, width}: {ctx: KeyContext; width: number}) {
  const colour = useColour();
  return (
    <Text color={colour('gray')} wrap="truncate-end">
      {footerLine(ctx, width)}
    </Text>
  );
}
