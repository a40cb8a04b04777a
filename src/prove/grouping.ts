/** Positions 0…count-1 grouped by key, in the order of each group's first position (the lowest stands for the group). */
export function groupPositions(count: number, keyOf: (position: number) => string): number[][] {
  const byKey = new Map<string, number[]>();
  const list: number[][] = [];
  for (let position = 0; position < count; position++) {
    const key = keyOf(position);
    const group = byKey.get(key);
    if (group) group.push(position);
    else {
      const made = [position];
      byKey.set(key, made);
      list.push(made);
    }
  }
  return list;
}
