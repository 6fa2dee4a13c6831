# Removes $FILE_PATH (the resource that owned it is gone).
if [ -e "$FILE_PATH" ]; then
  rm -f "$FILE_PATH"
  changed "$FILE_PATH removed"
fi
