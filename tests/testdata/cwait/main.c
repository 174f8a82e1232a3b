/* cwait: wait4 and waitid in a process without children (ECHILD), and their
 * option checks (EINVAL), natively and under rumpgo. */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
int main(){int st; errno=0; int r=wait4(-1,&st,0,NULL); printf("wait4 %d %s\n", r, strerror(errno)); errno=0; r=wait4(-1,&st,0x12345,NULL); printf("wait4 bad %d %s\n", r, strerror(errno)); siginfo_t si; errno=0; r=waitid(P_ALL,0,&si,WEXITED); printf("waitid %d %s\n", r, strerror(errno)); errno=0; r=waitid(P_ALL,0,&si,0); printf("waitid noopt %d %s\n", r, strerror(errno)); return 0;}
