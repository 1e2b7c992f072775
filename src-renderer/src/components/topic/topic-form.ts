export interface TopicForm {
  topic: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: 2 | 4 | 6;
  order: boolean;
}
